/** The speed benchmark's reference for a worker's start: a module worker that does nothing but say when it ran. */
postMessage(performance.timeOrigin + performance.now());
