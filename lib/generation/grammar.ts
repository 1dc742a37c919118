/**
 * The decode loop's side of constrained generation: a TokenConstraint for a run with a
 * jsonSchema or grammar option, over the vocabulary of the host's tokenizer.
 */
import { GrammarError } from '../errors';
import { engineVocabulary, TokenConstraint, type CompiledConstraint, type TokenVocabulary } from '../grammar';
import type { Tokenizer } from '../tokenizer';

function vocabularyOf(tokenizer: Tokenizer): TokenVocabulary {
  const pieces: (string | undefined)[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) pieces.push(tokenizer.idToToken(id));
  return { pieces, specialIds: tokenizer.specialIds };
}

/**
 * The grammar state of one constrained run, or undefined without a constraint. `vocabSize` is
 * the logits length; `stopTokens` end the output only where the grammar can end. The caller
 * disposes it.
 */
export async function startConstraint(tokenizer: Tokenizer | null, vocabSize: number, compiled: CompiledConstraint | undefined, stopTokens: Iterable<number>): Promise<TokenConstraint | undefined> {
  if (compiled === undefined || tokenizer === null) return undefined; // plan() requires a tokenizer with a constraint
  const vocabulary = engineVocabulary(tokenizer, () => vocabularyOf(tokenizer), vocabSize);
  const constraint = await TokenConstraint.start(compiled, vocabulary, [...stopTokens]);
  if (!(await constraint.allowed()).some((w) => w !== 0)) {
    constraint.dispose();
    throw new GrammarError(`the ${compiled.source === 'grammar' ? 'grammar' : 'JSON schema'} allows no first token (it matches only empty output and no stop token may end it)`, 'ERR_RG_GRAMMAR_RULE');
  }
  return constraint;
}
