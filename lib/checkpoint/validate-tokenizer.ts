/**
 * The tokenizer and chat-template part of `validate`: tokenizer.json parses, its vocabulary fits
 * the model's, the special tokens exist with the ids config.json names, and the chat template
 * renders a two-turn conversation.
 *
 * Vocabulary size: config.json's `vocab_size` is the number of embedding rows. Hugging Face
 * checkpoints may pad it above the tokenizer's size (rows nobody trained, for alignment), so a
 * tokenizer with fewer ids than `vocab_size` is accepted with a warning; one with more ids is an
 * error, since those ids would index past the embedding (loading refuses it too).
 */
import * as path from 'path';

import { ChatTemplate, type ChatMessage } from '../chat/template';
import { RecurrentGemmaError } from '../errors';
import { Tokenizer } from '../tokenizer';
import type { ModelConfig } from './config';

export interface TokenizerIssue {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  file?: string;
}

export interface TokenizerSummary {
  /** Ids the tokenizer can produce (largest id + 1). */
  vocabSize: number;
  /** Special token ids found in the vocabulary (null when missing). */
  specialTokens: Record<'bos' | 'eos' | 'pad' | 'start_of_turn' | 'end_of_turn', number | null>;
  /** 'jinja': tokenizer_config.json's chat_template rendered; 'gemma': none, the built-in Gemma turn format is used. */
  chatTemplate: 'jinja' | 'gemma';
}

/** The conversation the chat template must render: two user turns around a model reply. */
const CONVERSATION: ChatMessage[] = [
  { role: 'user', content: 'Hello! What is a recurrence?' },
  { role: 'assistant', content: 'A rule that defines each term from the previous ones.' },
  { role: 'user', content: 'Give an example.' },
];

export function validateTokenizer(dir: string, config: ModelConfig | undefined, issues: TokenizerIssue[]): TokenizerSummary | undefined {
  const file = path.join(dir, 'tokenizer.json');
  // No tokenizer is not a problem: such a folder runs on token ids (the API's forward/generate with ids).
  if (!Tokenizer.existsIn(dir)) return undefined;
  let t: Tokenizer;
  try {
    t = Tokenizer.load(dir);
  } catch (e) {
    issues.push({ severity: 'error', code: (e as RecurrentGemmaError).code ?? 'ERR_RG_TOKENIZER_FILE', message: (e as Error).message, file });
    return undefined;
  }
  const id = (token: string) => t.tokenToId(token) ?? null;
  const summary: TokenizerSummary = {
    vocabSize: t.vocabSize,
    specialTokens: { bos: t.bosId, eos: t.eosId, pad: id('<pad>'), start_of_turn: t.startOfTurnId ?? null, end_of_turn: t.endOfTurnId ?? null },
    chatTemplate: t.chatTemplate !== undefined ? 'jinja' : 'gemma',
  };

  if (config) {
    if (t.vocabSize > config.vocabSize)
      issues.push({ severity: 'error', code: 'ERR_RG_TOKENIZER_FILE', message: `${file}: the tokenizer has ${t.vocabSize} ids but config.json's vocab_size is ${config.vocabSize}: ids from ${config.vocabSize} on have no embedding row`, file });
    else if (t.vocabSize < config.vocabSize)
      issues.push({ severity: 'warning', code: 'ERR_RG_VOCAB_PADDED', message: `${file}: the tokenizer has ${t.vocabSize} ids, config.json's vocab_size is ${config.vocabSize}: ids ${t.vocabSize}..${config.vocabSize - 1} are embedding padding without a token (a trained model does not produce them)`, file });
    const pairs: [string, number | null, number][] = [
      ['bos', t.bosId, config.bosTokenId],
      ['eos', t.eosId, config.eosTokenId],
      ['pad', summary.specialTokens.pad, config.padTokenId],
    ];
    for (const [name, tokId, cfgId] of pairs) {
      if (tokId === null) issues.push({ severity: 'warning', code: 'ERR_RG_SPECIAL_TOKEN', message: `${file}: no <${name}> token in the vocabulary (config.json says ${name}_token_id ${cfgId})`, file });
      else if (tokId !== cfgId) issues.push({ severity: 'error', code: 'ERR_RG_SPECIAL_TOKEN', message: `${file}: the tokenizer's ${name} token is id ${tokId} but config.json's ${name}_token_id is ${cfgId}`, file });
    }
  }
  for (const marker of ['start_of_turn', 'end_of_turn'] as const)
    if (summary.specialTokens[marker] === null)
      issues.push({ severity: 'warning', code: 'ERR_RG_SPECIAL_TOKEN', message: `${file}: no <${marker}> token: the chat turn format cannot be encoded (chat needs it)`, file });

  // Plain text must survive encode -> decode (a broken normalizer or byte fallback shows here).
  const sample = 'def f(x):\n    return x * 2  # ünïcødé ✓';
  const back = t.decode(t.encode(sample, { addBos: false }));
  if (back !== sample) issues.push({ severity: 'error', code: 'ERR_RG_TOKENIZER_FILE', message: `${file}: encode -> decode changes text: ${JSON.stringify(sample)} came back as ${JSON.stringify(back)}`, file });

  const configFile = path.join(dir, 'tokenizer_config.json');
  try {
    const rendered = new ChatTemplate(t.chatTemplate, t.bosToken).render(CONVERSATION, true);
    let at = 0;
    for (const m of CONVERSATION) {
      const found = rendered.indexOf(m.content, at);
      if (found < 0) throw new Error(`the ${m.role} message ${JSON.stringify(m.content)} is missing from the rendered text (or out of order)`);
      at = found + m.content.length;
    }
  } catch (e) {
    issues.push({ severity: 'error', code: 'ERR_RG_CHAT_TEMPLATE', message: `${configFile}: the chat template does not render a two-turn conversation: ${(e as Error).message}`, file: configFile });
  }
  return summary;
}
