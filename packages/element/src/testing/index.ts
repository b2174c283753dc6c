/**
 * `@digitlab/element/testing`: what the element's browser tests and the end-to-end tests share:
 * the headless browser, MNIST test images as CSV, the bundle build, the fixture page, the end-to-end tests' page.
 */
export { CHROMIUM, GPU_ARGS, QUIET_ARGS, drawWithMouse, ensureChromium, launchBrowser, watchErrors, type Browser } from './browser.ts';
export { mnistCsv, mnistTestSamples, type MnistSample } from './mnist-test-images.ts';
export { elementPage, recordedEvents, SEVEN_STROKE, type RecordedEvent } from './page.ts';
export { fixture, FIXTURE_ORIGIN, type PredictReply } from './fixture.ts';
export { buildElement, bundleElementText, bundlePath } from '../../scripts/build.ts';
