// Alignment of two lists by longest common subsequence: what Compare marks as same, removed or added.

/** Pairs [left, right] of equal items, or of an item on one side only (the other null). */
export function alignLists(left, right, key = (x) => x) {
  const a = left.map(key), b = right.map(key);
  const n = a.length, m = b.length;
  // lengths[i][j] = LCS length of a[i:] and b[j:]; lists are a few hundred items at most.
  const lengths = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const pairs = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { pairs.push([left[i++], right[j++], 'same']); }
    // On a tie the removal goes first, so a replaced item pairs up below.
    else if (i < n && (j >= m || lengths[i + 1][j] >= lengths[i][j + 1])) { pairs.push([left[i++], null, 'removed']); }
    else { pairs.push([null, right[j++], 'added']); }
  }
  // A removal followed by an addition is one changed item, shown side by side.
  const merged = [];
  for (const pair of pairs) {
    const previous = merged[merged.length - 1];
    if (pair[2] === 'added' && previous && previous[2] === 'removed' && previous[1] === null) {
      previous[1] = pair[1];
      previous[2] = 'changed';
    } else merged.push(pair);
  }
  return merged;
}
