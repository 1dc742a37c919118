/** The per-sequence state: the object (state.ts), its layout (layout.ts), its file format (format.ts), its size report (size.ts). */
export { ModelState, type LayerState, type SerializeOptions, type StateOwner } from './state';
export * from './layout';
export * from './format';
export * from './size';
