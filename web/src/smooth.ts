// TensorBoard's smoothing: an exponential moving average, debiased so the
// first points are not pulled towards zero. Non-finite values pass through
// unsmoothed and do not disturb the average; a constant series stays constant.

export function smooth(values: ArrayLike<number>, weight: number): Float64Array {
  const out = new Float64Array(values.length);
  if (weight <= 0 || values.length === 0) {
    for (let i = 0; i < values.length; i++) out[i] = values[i];
    return out;
  }
  let first = NaN;
  let constant = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (Number.isNaN(first)) first = v;
    else if (v !== first) {
      constant = false;
      break;
    }
  }
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || constant) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count++;
    out[i] = weight === 1 ? last : last / (1 - Math.pow(weight, count));
  }
  return out;
}
