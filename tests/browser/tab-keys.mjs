// The Tab-key sequence of the browser tests, for playwright (Chromium) and puppeteer (Firefox)
// pages alike: both have `keyboard.{type, press, down, up}` and `evaluate`.

/**
 * In an editor that has the focus and is empty: Tab at a cursor, Tab on every line selected,
 * Shift-Tab twice. Returns the editor's text after each step, and whether the editor kept the
 * focus (Tab must not move it while editing).
 */
export async function tabKeySequence(page) {
  const text = () => page.evaluate(() => window.tandem.view.state.doc.toString());
  const chord = async (modifier, key) => {
    await page.keyboard.down(modifier);
    await page.keyboard.press(key);
    await page.keyboard.up(modifier);
  };
  await page.keyboard.type("ab");
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("Tab");
  const atCursor = await text();
  await page.keyboard.press("End");
  await page.keyboard.type("\nline two\nline three");
  await chord("Control", "a");
  await page.keyboard.press("Tab");
  const indented = await text();
  await chord("Shift", "Tab");
  await chord("Shift", "Tab");
  const dedented = await text();
  const focused = await page.evaluate(() => document.activeElement?.classList.contains("cm-content"));
  return { atCursor, indented, dedented, focused };
}
