// `wasm-opt -Oz` for many modules in one Node.js process: the npm binaryen's command-line
// wasm-opt spends about a second of every run loading binaryen itself, and a build has two
// hundred modules. This runs the same passes through binaryen's JavaScript API, loaded once.
//   node --input-type=module -e "<this file>" <binaryen's index.js> FILE...
// Each FILE is optimised in place. As `wasm-opt -Oz --enable-bulk-memory
// --enable-nontrapping-float-to-int IN -o IN`: optimize level 2, shrink level 2, no names
// section, the module validated before and after.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [index, ...files] = process.argv.slice(1);
const { default: binaryen } = await import(pathToFileURL(index).href);
binaryen.setOptimizeLevel(2);
binaryen.setShrinkLevel(2);
binaryen.setDebugInfo(false);
// As the command line does at -O2 and above: Stack IR, optimised when the binary is written.
binaryen.setGenerateStackIR(true);
binaryen.setOptimizeStackIR(true);
const extra = binaryen.Features.BulkMemory | binaryen.Features.NontrappingFPToInt;
for (const file of files) {
  const module = binaryen.readBinary(readFileSync(file));
  try {
    module.setFeatures(module.getFeatures() | extra);
    if (!module.validate()) throw new Error(`${file}: the module is not valid WebAssembly`);
    module.optimize();
    if (!module.validate()) throw new Error(`${file}: wasm-opt made a module that is not valid`);
    writeFileSync(file, module.emitBinary());
  } finally {
    module.dispose();
  }
}
