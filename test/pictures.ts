// Real pictures for tests: PNGs a browser decodes (pngjs), of a size and colours of the test's choosing.
import { PNG } from 'pngjs';

/** A real picture: w×h, a diagonal gradient from one colour to another. */
export function makePng(w: number, h: number, from: [number, number, number], to: [number, number, number]): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = (x / w + y / h) / 2;
      const i = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) png.data[i + c] = Math.round(from[c]! + (to[c]! - from[c]!) * t);
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}
