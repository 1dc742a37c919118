/**
 * Every error the package throws is a RecurrentGemmaError with a stable `code`, so callers can
 * branch on the kind of failure without parsing messages.
 */
export class RecurrentGemmaError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A checkpoint folder, config.json or safetensors file is missing, malformed or inconsistent. */
export class CheckpointError extends RecurrentGemmaError {
  /** The file the problem was found in, when known. */
  readonly file?: string;
  /** The tensor the problem concerns, when known. */
  readonly tensor?: string;
  constructor(message: string, code: string, details: { file?: string; tensor?: string } = {}) {
    super(message, code);
    this.file = details.file;
    this.tensor = details.tensor;
  }
}

/** An argument or option has the wrong type or an out-of-range value. */
export class InvalidArgumentError extends RecurrentGemmaError {
  constructor(message: string, code = 'ERR_RG_INVALID_ARGUMENT') {
    super(message, code);
  }
}

/** A token id is not an integer in [0, vocab_size). */
export class TokenRangeError extends InvalidArgumentError {
  constructor(message: string) {
    super(message, 'ERR_RG_TOKEN_RANGE');
  }
}

/** The model or state was disposed before this call. */
export class DisposedError extends RecurrentGemmaError {
  constructor(what: string) {
    super(`the ${what} has been disposed`, 'ERR_RG_DISPOSED');
  }
}

/** The state is being advanced by another call (calls on one state are rejected, not queued). */
export class StateBusyError extends RecurrentGemmaError {
  constructor(message = 'the state is already in use by another forward pass') {
    super(message, 'ERR_RG_BUSY');
  }
}

/** A state was used with a model it does not belong to. */
export class ForeignStateError extends RecurrentGemmaError {
  constructor(message = 'the state belongs to a different model') {
    super(message, 'ERR_RG_FOREIGN_STATE');
  }
}

/** Text was used with a model folder that has no tokenizer, or the tokenizer failed. */
export class TokenizerError extends RecurrentGemmaError {
  constructor(message: string, code = 'ERR_RG_TOKENIZER') {
    super(message, code);
  }
}

/**
 * A grammar or JSON schema for constrained generation cannot be used.
 * Codes: ERR_RG_GRAMMAR_SYNTAX (GBNF text), ERR_RG_GRAMMAR_RULE (undefined or missing rule),
 * ERR_RG_SCHEMA_UNSUPPORTED (a keyword or value outside the supported subset),
 * ERR_RG_SCHEMA_INVALID (a malformed or unsatisfiable schema), ERR_RG_GRAMMAR_UNSUPPORTED (a
 * construct the matching engine cannot match exactly), ERR_RG_GRAMMAR_ENGINE (the engine failed).
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

/** A serialized state is truncated, corrupted, from another model or from an unknown version. */
export class StateFormatError extends RecurrentGemmaError {
  constructor(message: string, code = 'ERR_RG_STATE_FORMAT') {
    super(message, code);
  }
}

/**
 * A Hugging Face hub request failed: the repository or revision does not exist, access was
 * refused (`status` 401 / 403: gated or private repository, see `hint`), or the network failed.
 */
export class HubError extends RecurrentGemmaError {
  /** HTTP status of the hub's answer, when there was one. */
  readonly status?: number;
  /** The repository the request was about (`owner/name`). */
  readonly repo?: string;
  constructor(message: string, code: string, details: { status?: number; repo?: string } = {}) {
    super(message, code);
    this.status = details.status;
    this.repo = details.repo;
  }
}

/** A downloaded file does not have the size or hash the hub's metadata announces. */
export class IntegrityError extends RecurrentGemmaError {
  /** The repository file (path inside the repository) that failed the check. */
  readonly file: string;
  constructor(message: string, file: string) {
    super(message, 'ERR_RG_INTEGRITY');
    this.file = file;
  }
}

/** The compiled native addon is missing or cannot be loaded on this machine. */
export class NativeAddonError extends RecurrentGemmaError {
  constructor(message: string) {
    super(message, 'ERR_RG_NATIVE_ADDON');
  }
}

/**
 * A forward()/forwardBatch() call was aborted through its `signal`. The name is 'AbortError', as
 * for fetch() and other signal-taking APIs; `cause` is the signal's reason. The states are left
 * at the round boundary they had reached (see their `position`). Generation never throws it: an
 * aborted generation resolves with finishReason 'abort'.
 */
export class AbortError extends RecurrentGemmaError {
  constructor(message = 'the operation was aborted', cause?: unknown) {
    super(message, 'ERR_RG_ABORTED');
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

/** The native addon rejected a call; converts its `code` into the matching error class. */
export function fromNativeError(e: unknown): Error {
  // Duck-typed rather than `instanceof Error`: the addon creates its errors in the realm it was
  // loaded in, which is not the caller's under vm contexts (jest runs tests in one).
  if (typeof e !== 'object' || e === null || typeof (e as Error).message !== 'string')
    return new RecurrentGemmaError(String(e), 'ERR_RG_NATIVE');
  if (e instanceof RecurrentGemmaError) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_RG_')) return e as Error;
  switch (code) {
    case 'ERR_RG_DISPOSED':
      return new DisposedError((e as Error).message.replace(/^the (.*) has been disposed$/, '$1'));
    case 'ERR_RG_BUSY':
      return new StateBusyError((e as Error).message);
    case 'ERR_RG_FOREIGN_STATE':
      return new ForeignStateError((e as Error).message);
    case 'ERR_RG_TOKEN_RANGE':
      return new TokenRangeError((e as Error).message);
    case 'ERR_RG_CHECKPOINT':
    case 'ERR_RG_INVALID_CONFIG':
      return new CheckpointError((e as Error).message, code);
    default:
      return new InvalidArgumentError((e as Error).message, code);
  }
}

/** Runs a native call, turning its coded errors into the package's error classes. */
export function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNativeError(e);
  }
}
