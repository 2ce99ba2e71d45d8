// What the service worker's type check needs to know: the build defines TANDEM_SHELL (esbuild
// --define, scripts/build-web.sh).

/** The first load's files, cached at install. */
declare const TANDEM_SHELL: string[];
