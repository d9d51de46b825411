// The version printed by `limpet --version`, kept in step with package.json by the build.
declare const __LIMPET_VERSION__: string | undefined;
export const VERSION: string = typeof __LIMPET_VERSION__ === 'string' ? __LIMPET_VERSION__ : '0.0.0-dev';
