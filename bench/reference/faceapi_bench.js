// face-api itself (@vladmandic/face-api 1.7.15 on tfjs 4.22) timed on the same photos as
// posefer_bench_faceapi: detectAllFaces(TinyFaceDetector 416, score 0.5).withFaceLandmarks()
// .withFaceExpressions(), per photo 1 warm-up run, then `runs` timed runs; median/min/max ms.
// The photo is decoded and turned into an int32 tensor once, outside the timing (posefer's bench
// also excludes decoding); model loading is not timed either.
//
// usage: node faceapi_bench.js --modules DIR [--backend wasm|cpu] [--runs 5] [--input-size 416]
//                              [--json OUT] IMAGE...
//   --modules DIR  the npm prefix holding node_modules/ (bench/faceapi_compare.sh installs
//                  bench/reference/package.json there)
//   IMAGE          PNG (8-bit, non-interlaced: the reference inputs) or JPEG (jpeg-js)
//
// Backends: wasm = @tensorflow/tfjs-backend-wasm; its SIMD build is used when WebAssembly SIMD
// validates (Node 16+), and it runs on ONE thread in Node: tfjs 4.22 reports no multithread
// support under Node (flags_wasm.js, tensorflow/tfjs#3830), so setThreadsCount has no effect.
// cpu = tfjs's pure-JS backend (single-threaded, much slower).
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { createRequire } = require('module');

function usage(why) {
  process.stderr.write(`faceapi_bench.js: ${why}\nusage: node faceapi_bench.js --modules DIR `
    + '[--backend wasm|cpu] [--runs 5] [--input-size 416] [--json OUT] IMAGE...\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { modules: '', backend: 'wasm', runs: 5, inputSize: 416, json: '', images: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { o.images.push(a); continue; }
    if (i + 1 >= argv.length) usage(`${a}: missing value`);
    const v = argv[++i];
    if (a === '--modules') o.modules = v;
    else if (a === '--backend') o.backend = v;
    else if (a === '--runs') o.runs = Number(v);
    else if (a === '--input-size') o.inputSize = Number(v);
    else if (a === '--json') o.json = v;
    else usage(`unknown flag ${a}`);
  }
  if (!o.modules) usage('--modules DIR is required');
  if (!['wasm', 'cpu'].includes(o.backend)) usage(`--backend must be wasm or cpu, got '${o.backend}'`);
  if (!Number.isInteger(o.runs) || o.runs < 1) usage('--runs must be a positive integer');
  if (!Number.isInteger(o.inputSize) || o.inputSize < 32 || o.inputSize % 32) usage('--input-size must be a multiple of 32');
  if (!o.images.length) usage('no IMAGE given');
  return o;
}

// Minimal PNG decoder (8-bit grey / grey+alpha / RGB / RGBA, non-interlaced) -> RGB bytes.
function decodePng(buf, file) {
  const fail = (why) => { throw new Error(`${file}: ${why}`); };
  if (buf.length < 8 || buf.readUInt32BE(0) !== 0x89504e47) fail('not a PNG');
  let pos = 8;
  let width = 0, height = 0, colorType = -1;
  const idat = [];
  while (pos + 8 <= buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      colorType = data[9];
      if (data[8] !== 8 || data[12] !== 0 || ![0, 2, 4, 6].includes(colorType)) {
        fail(`unsupported PNG (bit depth ${data[8]}, colour type ${data[9]}, interlace ${data[12]})`);
      }
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    pos += 12 + len;
  }
  if (!width || !height || !idat.length) fail('truncated PNG');
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  const stride = width * channels;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  if (raw.length < height * (stride + 1)) fail('truncated PNG data');
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[row + x - channels] : 0;
      const b = y > 0 ? px[row - stride + x] : 0;
      const c = x >= channels && y > 0 ? px[row - stride + x - channels] : 0;
      let p;
      switch (filter) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: fail(`bad PNG filter ${filter}`);
      }
      px[row + x] = (raw[src + x] + p) & 255;
    }
  }
  const rgb = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 3; k++) rgb[3 * i + k] = px[i * channels + (channels < 3 ? 0 : k)];
  }
  return { width, height, data: rgb };
}

function readImage(file, jpeg) {
  if (!fs.existsSync(file)) throw new Error(`${file}: cannot read image (missing file)`);
  const buf = fs.readFileSync(file);
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x89504e47) return decodePng(buf, file);
  const raw = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false }); // RGB, no EXIF rotation
  return { width: raw.width, height: raw.height, data: raw.data };
}

const median = (v) => {
  const s = [...v].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
};

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const req = createRequire(path.join(path.resolve(o.modules), 'package.json'));
  const jpeg = req('jpeg-js');
  const tf = req('@tensorflow/tfjs');
  const wasm = req('@tensorflow/tfjs-backend-wasm');
  const faceapi = req('@vladmandic/face-api/dist/face-api.node-wasm.js');
  const pkgDir = (name) => path.dirname(req.resolve(`${name}/package.json`));
  const modelDir = path.join(pkgDir('@vladmandic/face-api'), 'model');

  for (const f of o.images) if (!fs.existsSync(f)) throw new Error(`${f}: cannot read image (missing file)`);
  if (o.backend === 'wasm') wasm.setWasmPaths(path.join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist') + path.sep);
  if (!(await tf.setBackend(o.backend))) throw new Error(`tfjs backend '${o.backend}' failed to start`);
  await tf.ready();
  const simd = o.backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : false;
  const threads = o.backend === 'wasm' ? wasm.getThreadsCount() : 1;
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceExpressionNet.loadFromDisk(modelDir);
  const opts = new faceapi.TinyFaceDetectorOptions({ inputSize: o.inputSize, scoreThreshold: 0.5 });

  const meta = {
    faceapi: faceapi.version, tfjs: tf.version_core, backend: tf.getBackend(), simd, threads, node: process.version,
  };
  console.log(`face-api ${meta.faceapi} tfjs ${meta.tfjs} backend=${meta.backend} simd=${simd} threads=${threads} `
    + `node ${meta.node}; input ${o.inputSize}, median of ${o.runs} run(s) after 1 warm-up (decode not timed)`);
  const images = [];
  for (const file of o.images) {
    const img = readImage(file, jpeg);
    const tensor = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    const run = () => faceapi.detectAllFaces(tensor, opts).withFaceLandmarks().withFaceExpressions();
    let t0 = performance.now();
    const faces = (await run()).length;
    const firstMs = performance.now() - t0;
    const runsMs = [];
    for (let i = 0; i < o.runs; i++) {
      t0 = performance.now();
      await run();
      runsMs.push(performance.now() - t0);
    }
    tensor.dispose();
    const row = {
      image: path.basename(file), width: img.width, height: img.height, faces,
      median_ms: median(runsMs), min_ms: Math.min(...runsMs), max_ms: Math.max(...runsMs), first_ms: firstMs, runs_ms: runsMs,
    };
    images.push(row);
    console.log(`${row.image.padEnd(12)} ${`${img.width}x${img.height}`.padStart(9)} ${String(faces).padStart(5)} `
      + `${row.median_ms.toFixed(1).padStart(10)} ${row.min_ms.toFixed(1).padStart(8)} ${row.max_ms.toFixed(1).padStart(8)}`);
  }
  if (o.json) fs.writeFileSync(o.json, `${JSON.stringify({ ...meta, input_size: o.inputSize, runs: o.runs, warmup: 1, images }, null, 2)}\n`);
}

main().catch((e) => { process.stderr.write(`faceapi_bench.js: ${e.message || e}\n`); process.exit(1); });
