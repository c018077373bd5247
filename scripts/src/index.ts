export { startLabelloop, type LaunchOptions, type Labelloop } from './launcher.js';
export { ServiceProcess, type ServiceProcessOptions } from './service-process.js';
