/**
 * Structured output: GBNF grammars (llama.cpp's format) and JSON schemas compiled into a token
 * mask that constrains generation. The one entry point for the rest of the package.
 */
export { parseGbnf } from './gbnf';
export { compileJsonSchema, SUPPORTED_FORMATS, SUPPORTED_KEYWORDS } from './json-schema';
export { printGrammar, type Expr, type Grammar } from './ast';
export { applyTokenMask, compileConstraint, engineVocabulary, TokenConstraint, type CompiledConstraint, type ConstraintSpec } from './constraint';
export { EngineVocabulary } from './engine';
export { tokenBytes, vocabularyFromTokenizerJson, type TokenVocabulary } from './vocabulary';
