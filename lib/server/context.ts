/** What the routes share: the fastify app, the loaded model and scheduler, limits and identity. */
import type { FastifyInstance } from 'fastify';

import type { ChatTemplate } from '../chat';
import type { RecurrentGemma } from '../model';
import type { Tokenizer } from '../tokenizer';
import type { RequestLimits } from './params';
import type { InflightRegistry, Usage } from './routes/run';
import type { Scheduler, SequenceResult } from './scheduler';

/** The parts that exist once the model is loaded. */
export interface ReadyParts {
  model: RecurrentGemma;
  scheduler: Scheduler;
  /** The chat template and tokenizer (a 400 TokenizerError for a model folder without a tokenizer). */
  chat(): { template: ChatTemplate; tokenizer: Tokenizer };
}

export interface ServerContext {
  app: FastifyInstance;
  modelId: string;
  /** Unix seconds the server started (the model card's `created`). */
  created: number;
  /** Identifies the weights in responses (OpenAI's system_fingerprint). */
  systemFingerprint: string;
  limits: RequestLimits;
  inflight: InflightRegistry;
  /** The loaded parts, or a 503 ApiError while loading / shutting down. */
  ready(): ReadyParts;
  /** Throws the 404 for a model id this server does not serve. */
  checkModel(model: string): void;
  usage(result: SequenceResult): Usage;
  health(): unknown;
}
