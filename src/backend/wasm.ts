/**
 * Points tfjs-backend-wasm at its binaries through the bundler: without this, a dev server answers the default paths
 * with HTML and the backend fails to start. Imported lazily, only when the wasm backend is probed.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

// setWasmPaths insists on all three names, although the threaded binary is never fetched: threads are switched off
// because they hang in a minified build (tfjs stringifies its worker factory) and gain nothing on a few cores.
setWasmPaths({ 'tfjs-backend-wasm.wasm': plainWasm, 'tfjs-backend-wasm-simd.wasm': simdWasm, 'tfjs-backend-wasm-threaded-simd.wasm': threadedSimdWasm });
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
