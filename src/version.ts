/** havn's version, as package.json states it (a unit test keeps the two equal); plans record it. */
export const HAVN_VERSION = '0.1.0'
