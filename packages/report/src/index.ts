export { collectReport, readTrainingLog, shippedLog, pickDigits, disagreementsOf, type ReportModel, type ModelResult, type ExplainedDigit, type ReportData, type CollectOptions } from './collect.js';
export { renderReport, reportJson, GALLERY_LIMIT, DISAGREEMENT_GROUP_LIMIT } from './html.js';
export { encodePng, crc32, pngDataUrl, digitPng, overlayPng, heatColor } from './png.js';
export { confusionSvg, lineChartSvg, esc, type Series } from './svg.js';
export { buildReport, REPO, type BuildOptions } from './build.js';
