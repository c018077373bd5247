export { predict, topK, type PredictOptions, type ImagePrediction, type ClassProbability } from './predict.js';
