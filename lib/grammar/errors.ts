/**
 * The grammar module's error: a grammar or JSON schema that cannot be compiled, with a stable
 * `code` per kind of problem so callers (the server) can map it to a request error.
 */
import { RecurrentGemmaError } from '../errors';

/**
 * Codes: ERR_RG_GRAMMAR_SYNTAX (GBNF text), ERR_RG_GRAMMAR_RULE (undefined or missing rule),
 * ERR_RG_SCHEMA_UNSUPPORTED (a keyword or value outside the supported subset),
 * ERR_RG_SCHEMA_INVALID (a malformed or unsatisfiable schema), ERR_RG_GRAMMAR_ENGINE (the
 * matching engine failed).
 */
export class GrammarError extends RecurrentGemmaError {
  /** Where in the input: `line:column` for GBNF, a JSON pointer (`#/properties/name`) for a schema. */
  readonly location?: string;
  /** The unsupported JSON-schema keyword, when that is the problem. */
  readonly keyword?: string;
  constructor(message: string, code: string, details: { location?: string; keyword?: string } = {}) {
    super(message, code);
    this.location = details.location;
    this.keyword = details.keyword;
  }
}
