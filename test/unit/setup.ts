/** Node has no WebGL or WebGPU: every unit test runs tfjs on its plain CPU backend. */
import * as tf from '@tensorflow/tfjs';

await tf.setBackend('cpu');
