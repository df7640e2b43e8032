// Writes tests/data/faceres_reference.json: the outputs of @vladmandic/human@3.3.6's faceres
// model (models/faceres.json + .bin), run by the TF.js runtime human itself bundles
// (dist/tfjs.esm.js, CPU backend), on deterministic inputs that the C++ parity test
// (tests/test_faceres.cpp) rebuilds from the same formula. Run once, after scripts/setup.sh:
//   node tools/faceres_reference.mjs [human-package-dir] > tests/data/faceres_reference.json
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

const root = path.resolve(path.dirname(url.fileURLToPath(import.meta.url)), '..');
const pkg = process.argv[2] ||
    path.join(root, 'third_party/npm/node_modules/@vladmandic/human');
// The bundle is built for browsers and ESM: its Node platform shim lacks util.TextEncoder, so it
// runs here on its browser platform (only the CPU backend and in-memory weights are used).
globalThis.window = globalThis;
globalThis.document = { createElement: () => ({}) };
const tf = await import(url.pathToFileURL(path.join(pkg, 'dist/tfjs.esm.js')).href);
await tf.setBackend('cpu');
await tf.ready();

const modelJson = JSON.parse(fs.readFileSync(path.join(pkg, 'models/faceres.json'), 'utf8'));
// The graph is fully convolutional up to the global mean; its placeholder declares 224 x 224,
// which tfjs enforces. Declare H and W free so the same graph also runs at 128 and 112 px.
for (const node of modelJson.modelTopology.node) {
  if (node.op === 'Placeholder') node.attr.shape.shape.dim = [{ size: '-1' }, { size: '-1' }, { size: '-1' }, { size: '3' }];
}
const group = modelJson.weightsManifest[0];
const buffers = group.paths.map((p) => fs.readFileSync(path.join(pkg, 'models', p)));
const bin = Buffer.concat(buffers);
const handler = {
  load: async () => ({
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    signature: modelJson.signature,
    weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
  }),
};
const model = await tf.loadGraphModel(handler);

// Pixel (y, x, c) of an N x N RGB input in 0..255 (what human feeds the model: crop * 255).
// The C++ test evaluates the same expression in double and rounds to float.
function pixel(y, x, c, n) {
  return 127.5 + 127.5 * Math.sin(0.11 * y * 224 / n + 0.07 * x * 224 / n + 1.3 * c) *
      Math.cos(0.05 * x * 224 / n - 0.03 * y * 224 / n);
}

const out = {
  tool: 'tools/faceres_reference.mjs',
  package: '@vladmandic/human@' + JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'))).version,
  runtime: 'tfjs ' + tf.version_core + ' (human dist/tfjs.esm.js), backend ' + tf.getBackend(),
  input: '0..255 RGB NHWC, pixel(y,x,c) = 127.5 + 127.5*sin(0.11*y*224/N + 0.07*x*224/N + 1.3*c)*cos(0.05*x*224/N - 0.03*y*224/N)',
  cases: [],
};
for (const n of [224, 128, 112]) {
  const data = new Float32Array(n * n * 3);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let c = 0; c < 3; c++) {
    data[(y * n + x) * 3 + c] = pixel(y, x, c, n);
  }
  const input = tf.tensor4d(data, [1, n, n, 3]);
  const [desc, gender, age] = model.execute(input, ['global_pooling/Mean', 'gender_pred/Sigmoid', 'age_pred/Softmax']);
  out.cases.push({
    side: n,
    descriptor: Array.from(await desc.data()),
    gender: Array.from(await gender.data()),
    age: Array.from(await age.data()),
  });
}
// A real face: a CMU Face Images photo (128 x 120 grey ASCII PGM), its centre 112 x 112 crop, grey in all
// three channels. The C++ test reads the same file when ../shared is present.
const photo = 'datasets/cmu-faces/faces/an2i/an2i_straight_neutral_open.pgm';
const photoPath = path.join(root, '..', 'shared', photo);
if (fs.existsSync(photoPath)) {
  // ASCII PGM (P2); the raw values are used as pixel values (no rescaling by the header's maxval).
  const tokens = fs.readFileSync(photoPath, 'latin1').split(/\s+/).filter((t) => t.length);
  if (tokens[0] !== 'P2') throw new Error(photoPath + ': expected an ASCII PGM (P2)');
  const [w, h] = [Number(tokens[1]), Number(tokens[2])];
  const pix = tokens.slice(4).map(Number);
  const n = 112, x0 = (w - n) / 2, y0 = (h - n) / 2;
  const data = new Float32Array(n * n * 3);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let c = 0; c < 3; c++) {
    data[(y * n + x) * 3 + c] = pix[(y + y0) * w + (x + x0)];
  }
  const [desc, gender, age] = model.execute(tf.tensor4d(data, [1, n, n, 3]), ['global_pooling/Mean', 'gender_pred/Sigmoid', 'age_pred/Softmax']);
  out.cases.push({
    side: n, photo, crop: [x0, y0],
    descriptor: Array.from(await desc.data()),
    gender: Array.from(await gender.data()),
    age: Array.from(await age.data()),
  });
}
process.stdout.write(JSON.stringify(out) + '\n');
