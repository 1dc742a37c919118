/** Log-probabilities, scoring (perplexity) and multiple-choice evaluation. */
export { logSumExp, tokenLogprob, tokenLogprobs, topLogprobs, logitsRow, MAX_TOP_LOGPROBS, type TopLogprob, type TokenLogprobs } from './logprobs';
export { score, scoreIds, resolveScoreOptions, SCORE_CHUNK_SIZE, type ScoreInput, type ScoreOptions, type ScoreProgress, type ScoreResult, type ScoringHost, type ScoringModel } from './score';
export { evaluate, parseTasks, checkEvalItem, splitChoice, type EvalItem, type EvalItemResult, type EvalOptions, type EvalProgress, type EvalSummary } from './eval';
