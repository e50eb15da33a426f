// Peak RSS of what a worker does with a .json source: planning's scan, then 8 chunk imports at once (worker concurrency 8).
const fs = require('node:fs');
const [dist, file, per = '50000'] = process.argv.slice(2);
const { scanFlatFile } = require(`${dist}/src/formats/flat`);
const { readChunk } = require(`${dist}/src/formats/flat-read`);
const mb = (n) => Math.round(n / 1048576);
let peak = 0;
setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50).unref();
(async () => {
  const t0 = Date.now();
  const scan = await scanFlatFile('file://' + file, 'json', fs.createReadStream(file, { highWaterMark: 1 << 20 }), Number(per), 'rec');
  console.log(`scan: ${scan.records} records, ${scan.chunks.length} chunks, ${((Date.now() - t0) / 1000).toFixed(1)} s, peak RSS ${mb(peak)} MB, maxRSS ${mb(process.resourceUsage().maxRSS * 1024)} MB`);
  const { fields } = scan;
  const scanPeak = peak;
  peak = 0;
  const t1 = Date.now();
  let next = 0, records = 0;
  const chunks = scan.chunks.slice(0, 32);
  const byteRanges = !(chunks[0].end > 0 && chunks[0].end === chunks[0].records); // old plans: element ranges
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < chunks.length) {
      const c = chunks[next++];
      const body = byteRanges ? fs.createReadStream(file, { start: c.start, ...(c.end >= 0 ? { end: c.end - 1 } : {}), highWaterMark: 1 << 20 }) : fs.createReadStream(file, { highWaterMark: 1 << 20 });
      for await (const r of readChunk('file://' + file, 'json', body, c, fields)) if (r.ok) records++;
    }
  }));
  console.log(`import of ${chunks.length} chunks, 8 at once: ${records} records, ${((Date.now() - t1) / 1000).toFixed(1)} s, peak RSS ${mb(peak)} MB; whole-run maxRSS ${mb(process.resourceUsage().maxRSS * 1024)} MB (scan peak ${mb(scanPeak)} MB)`);
})().catch((e) => { console.error('FAILED', e.message); process.exit(1); });
