// A value from an untrusted file, shown in an error message: JSON, cut to a readable length. JSON.stringify
// recurses, so a value nested thousands deep (a hostile header or config) would throw a bare "Maximum call
// stack size exceeded" from inside the message; here it reads as what it is.
export function show(v: unknown, max = 80): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    return Array.isArray(v) ? '(an array nested too deeply to show)' : '(a value nested too deeply to show)';
  }
  if (s === undefined) return String(v);
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
