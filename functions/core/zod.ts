// zod/mini (not classic zod: ~14 KiB instead of ~460 KiB in a bundle, and no 1.6x cold import),
// with English messages so validation details read well. Import `z` from here, not from zod.
import { z } from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

export { z };
