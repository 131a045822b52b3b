/** Cuts a byte stream at the given points (reduced modulo its length), in order. */
export function splitAt(buf: Buffer, cuts: number[], options: { keepEmpty?: boolean } = {}): Buffer[] {
  const keepEmpty = options.keepEmpty ?? true;
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of [...points, buf.length]) {
    if (keepEmpty || p > last) parts.push(buf.subarray(last, p));
    last = p;
  }
  return parts;
}
