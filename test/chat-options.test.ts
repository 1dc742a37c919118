/** createChatSession() checks its options like generate() does: unknown keys and bad values are rejected up front. */
import { InvalidArgumentError, RecurrentGemma } from '../lib';

let model: RecurrentGemma;
beforeAll(async () => {
  model = await RecurrentGemma.load();
});
afterAll(() => model.dispose());

test.each([
  [{ systemPromt: 'typo' }, /unknown chat session option "systemPromt" \(known: .*generation.*template/],
  [{ generation: { maxToken: 5 } }, /unknown generation option "maxToken"/],
  [{ generation: { topP: 2 } }, /topP must be in \(0, 1\], got 2/],
  [{ generation: { state: null } }, /"state" is not a generation option here/],
  [{ generation: 5 }, /generation must be an object/],
  [[], /chat session options must be an object/],
])('createChatSession(%j) throws', (options, message) => {
  expect(() => model.createChatSession(options as never)).toThrow(InvalidArgumentError);
  expect(() => model.createChatSession(options as never)).toThrow(message);
});

test('known options are accepted', () => {
  const s = model.createChatSession({ generation: { maxTokens: 3, temperature: 0 }, template: undefined });
  s.dispose();
});
