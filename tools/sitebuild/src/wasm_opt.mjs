// `wasm-opt` for many modules in one Node.js process: the npm binaryen's command-line
// wasm-opt spends about a second of every run loading binaryen itself, and a build has two
// hundred modules. This runs the same passes through binaryen's JavaScript API, loaded once.
//   node --input-type=module -e "<this file>" <binaryen's index.js> FILE...
// Each FILE is optimised in place, as by `wasm-opt WASM_OPT_ARGS IN -o IN` (main.rs; change the
// two together) with binaryen 132: optimize level 2 and shrink level 2 (-Oz), Stack IR made and
// optimised as the command line does from -O2, no names section, the features the command line
// starts from (sign-ext, mutable-globals) plus the ones it is asked to enable (bulk memory,
// which also enables bulk-memory-opt, and non-trapping float-to-int), and the module validated
// before and after.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [index, ...files] = process.argv.slice(1);
const { default: binaryen } = await import(pathToFileURL(index).href);
for (const f of ['setGenerateStackIR', 'setOptimizeStackIR', 'readBinary', 'setShrinkLevel']) {
  if (typeof binaryen[f] !== 'function') {
    throw new Error(`${index}: this binaryen has no ${f}; scripts/setup.sh installs binaryen 132`);
  }
}
binaryen.setOptimizeLevel(2);
binaryen.setShrinkLevel(2);
binaryen.setDebugInfo(false);
binaryen.setGenerateStackIR(true);
binaryen.setOptimizeStackIR(true);
const F = binaryen.Features;
const features = F.SignExt | F.MutableGlobals | F.BulkMemory | F.BulkMemoryOpt | F.NontrappingFPToInt;
for (const file of files) {
  let module;
  try {
    module = binaryen.readBinary(readFileSync(file));
    module.setFeatures(module.getFeatures() | features);
    if (!module.validate()) throw new Error('the module is not valid WebAssembly');
    module.optimize();
    if (!module.validate()) throw new Error('wasm-opt made a module that is not valid');
    writeFileSync(file, module.emitBinary());
  } catch (e) {
    throw new Error(`${file}: ${e?.message ?? e}`);
  }
  // Only after a success: after one of binaryen's own errors the module may not be disposable.
  module.dispose();
}
