/** The version every controller reports; kept in step with package.json by a test. */
export const VERSION = '0.14.0';
