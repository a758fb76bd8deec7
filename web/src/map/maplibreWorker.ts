// Vite does not see MapLibre's `new Worker(new URL(...))` inside the prebuilt
// bundle, so the worker file is emitted as an asset and its URL handed over here.
import { setWorkerUrl } from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';

setWorkerUrl(workerUrl);
