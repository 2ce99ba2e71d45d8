//! Key bindings as data: key → command name, in two layers — the buffer's, built from the config's `[keys]`
//! table, and the prompt's line editing. The names are looked up in [`Commands`], and the help screen is
//! generated from the same table.

use std::collections::{BTreeMap, HashMap};

use crate::commands::{Commands, Scope};
use crate::input::{Key, KeyEvent, Modifiers};

/// The prompt's default keys: (key spec, command).
const PROMPT_KEYS: &[(&str, &str)] = &[
    ("esc", "prompt_cancel"),
    ("enter", "prompt_submit"),
    ("alt-r", "prompt_toggle_regex"),
    ("ctrl-r", "prompt_toggle_regex"),
    ("alt-c", "prompt_toggle_case"),
    ("down", "prompt_find_next"),
    ("f3", "prompt_find_next"),
    ("ctrl-f", "prompt_find_next"),
    ("ctrl-n", "prompt_find_next"),
    ("up", "prompt_find_prev"),
    ("ctrl-p", "prompt_find_prev"),
    ("ctrl-v", "prompt_paste"),
    ("backspace", "prompt_delete_backward"),
    ("ctrl-h", "prompt_delete_backward"),
    ("delete", "prompt_delete_forward"),
    ("left", "prompt_left"),
    ("right", "prompt_right"),
    ("home", "prompt_home"),
    ("end", "prompt_end"),
    ("ctrl-u", "prompt_clear"),
    ("alt-backspace", "prompt_delete_word"),
    ("ctrl-backspace", "prompt_delete_word"),
    ("tab", "prompt_complete"),
];

/// Key → command name, per scope.
#[derive(Clone, Debug, Default)]
pub struct Keymap {
    normal: HashMap<KeyEvent, &'static str>,
    prompt: HashMap<KeyEvent, &'static str>,
}

impl Keymap {
    /// Builds the map from `key spec → command name` (`"none"` unbinds) over the default prompt keys. Returns the
    /// problems found alongside, so one bad entry does not lose the rest.
    pub fn from_table(
        table: &BTreeMap<String, String>,
        commands: &Commands,
    ) -> (Keymap, Vec<String>) {
        let mut map = Keymap::default();
        let mut errors = Vec::new();
        for (spec, name) in PROMPT_KEYS {
            map.bind(Scope::Prompt, spec, name, commands, &mut errors);
        }
        for (spec, name) in table {
            map.bind(Scope::Normal, spec, name, commands, &mut errors);
        }
        (map, errors)
    }

    fn bind(
        &mut self,
        scope: Scope,
        spec: &str,
        name: &str,
        commands: &Commands,
        errors: &mut Vec<String>,
    ) {
        let key = match spec.parse::<KeyEvent>() {
            Ok(k) => k,
            Err(e) => return errors.push(e.to_string()),
        };
        let layer = match scope {
            Scope::Normal => &mut self.normal,
            Scope::Prompt => &mut self.prompt,
        };
        if name == "none" {
            layer.remove(&key);
        } else if let Some(cmd) = commands.get(scope, name) {
            layer.insert(key, cmd.name);
        } else {
            errors.push(format!("unknown command {name:?} for key {spec:?}"));
        }
    }

    /// The command bound to `key` when editing the buffer.
    pub fn get(&self, key: &KeyEvent) -> Option<&'static str> {
        self.normal.get(key).copied()
    }

    /// The command bound to `key` in a prompt. Shift never matters there, and keys other than characters match
    /// whatever the modifiers (Ctrl-Left moves like Left).
    pub fn prompt_command(&self, key: &KeyEvent) -> Option<&'static str> {
        let unshifted = KeyEvent { mods: Modifiers { shift: false, ..key.mods }, ..*key };
        self.prompt.get(&unshifted).copied().or_else(|| match key.key {
            Key::Char(_) => None,
            _ => self.prompt.get(&KeyEvent::plain(key.key)).copied(),
        })
    }

    /// Keys bound to the command `name` when editing the buffer, in a stable order.
    pub fn keys_for(&self, name: &str) -> Vec<KeyEvent> {
        let mut keys: Vec<_> =
            self.normal.iter().filter(|(_, c)| **c == name).map(|(k, _)| *k).collect();
        keys.sort_by_key(|k| {
            (k.mods.ctrl as u8 + k.mods.alt as u8 + k.mods.shift as u8, k.to_string())
        });
        keys
    }

    /// Help rows (keys, command name, help) for every buffer command, bound ones first.
    pub fn help_lines(&self, commands: &Commands) -> Vec<HelpLine> {
        let mut lines: Vec<_> = commands
            .iter(Scope::Normal)
            .map(|c| {
                let keys: Vec<String> =
                    self.keys_for(c.name).iter().map(ToString::to_string).collect();
                (keys.join(", "), c.name, c.help)
            })
            .collect();
        lines.sort_by_key(|(keys, _, _)| keys.is_empty());
        lines
    }
}

/// One row of the help screen: the keys, the command's name, its help text.
pub type HelpLine = (String, &'static str, &'static str);
