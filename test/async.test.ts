/** forward() runs on a worker thread: the event loop keeps turning while the model computes. */
import { RecurrentGemma } from '../lib';

test('the event loop stays responsive during a long prefill', async () => {
  const model = await RecurrentGemma.load(undefined, { simd: 'scalar' });
  const tokens = Array.from({ length: 400 }, (_, i) => 10 + (i % 3000));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = Date.now();
  const pending = model.forward(model.createState(), tokens);
  const ticksRightAfterCall = ticks;
  await pending;
  const elapsed = Date.now() - started;
  clearInterval(timer);
  expect(ticksRightAfterCall).toBe(0); // the call itself returned without computing
  // A blocked loop would see at most one tick; a free one sees many during the prefill.
  expect(elapsed).toBeGreaterThan(20);
  expect(ticks).toBeGreaterThan(Math.min(10, elapsed / 10));
  model.dispose();
});
