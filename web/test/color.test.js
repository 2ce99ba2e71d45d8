import assert from "node:assert/strict";
import { test } from "node:test";

import { FALLBACK_COLOR, PALETTE, contrast, distinctColor, labelTextColor, safeColor } from "../app/color.js";

test("contrast matches WCAG's figures", () => {
  assert.equal(Math.round(contrast("#000000", "#ffffff") * 100) / 100, 21);
  assert.equal(contrast("#777777", "#777777"), 1);
  assert.ok(Math.abs(contrast("#2563eb", "#ffffff") - 5.17) < 0.01);
});

test("label text reaches 4.5:1 on every colour", () => {
  // Every 17th step of each channel, and the palette users get.
  const steps = [];
  for (let v = 0; v <= 255; v += 17) steps.push(v.toString(16).padStart(2, "0"));
  const colors = ["#e11d48", "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
  for (const r of steps) for (const g of steps) for (const b of steps) colors.push(`#${r}${g}${b}`);
  for (const color of colors) {
    const ratio = contrast(color, labelTextColor(color));
    assert.ok(ratio >= 4.5, `${color}: ${ratio.toFixed(2)}`);
  }
  assert.equal(labelTextColor("#d97706"), "#000000", "amber takes black");
  assert.equal(labelTextColor("#2563eb"), "#ffffff", "blue takes white");
});

test("a colour from another client is used only when it is #rrggbb", () => {
  assert.equal(safeColor("#A1b2C3"), "#A1b2C3");
  for (const bad of ["red", "#abc", "#12345g", "url(x)", 7, undefined]) assert.equal(safeColor(bad), FALLBACK_COLOR);
});

test("of two users with one colour, the higher client id takes the first free one", () => {
  const peers = [{ clientId: 5, color: "#E11D48" }, { clientId: 9, color: "#2563eb" }];
  assert.equal(distinctColor("#e11d48", 7, peers), "#16a34a", "7 yields to 5 and skips 9's blue");
  assert.equal(distinctColor("#e11d48", 3, peers), "#e11d48", "3 keeps its colour: 5 yields");
  assert.equal(distinctColor("#d97706", 7, peers), "#d97706", "no clash");
  const everyone = PALETTE.map((color, i) => ({ clientId: i, color }));
  assert.equal(distinctColor(PALETTE[0], 99, everyone), PALETTE[0], "all taken: keep it");
});
