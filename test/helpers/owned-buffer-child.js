// Child process for test/owned-buffer.test.ts: creates and releases 2 MiB-page weight buffers whose
// sizes are not multiples of 2 MiB, interleaved, and uses each after its neighbours were released.
// A buffer whose aligned body ran past its own mapping used to unmap a neighbour (SIGSEGV).
const { addon } = require(process.argv[2]);
const live = [];
for (let i = 0; i < 300; i++) {
  const rows = 1025 + (i % 7) * 131;
  live.push(new addon.bench.KernelCase({ kernel: 'matmul', dtype: 'BF16', rows, cols: 2560, threads: 1, hugePages: true }));
  if (live.length > 3) live.shift().dispose();
  for (const kc of live) kc.run();
}
for (const kc of live) kc.dispose();
process.stdout.write('ok\n');
