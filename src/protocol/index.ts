export * from './frames';
export * from './decoder';
