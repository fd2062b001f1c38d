// IAM's StringLike: `*` matches any run of characters, `?` any one character, the rest literally.
export function stringLike(pattern: string, value: string): boolean {
  const source = pattern.split('').map((char) => {
    if (char === '*') return '.*';
    if (char === '?') return '.';
    return char.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
  }).join('');
  return new RegExp(`^${source}$`, 's').test(value);
}
