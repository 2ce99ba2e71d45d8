//! Key bindings as data: key → command, built from the config's `[keys]` table. The help screen is generated from
//! the same table.

use std::collections::{BTreeMap, HashMap};

use crate::commands::{self, Command};
use crate::input::KeyEvent;

/// Key → command.
#[derive(Default)]
pub struct Keymap {
    bindings: HashMap<KeyEvent, &'static Command>,
}

impl Keymap {
    /// Builds the map from `key spec → command name` (`"none"` unbinds). Returns the problems found alongside, so
    /// one bad entry does not lose the rest.
    pub fn from_table(table: &BTreeMap<String, String>) -> (Keymap, Vec<String>) {
        let mut map = Keymap::default();
        let mut errors = Vec::new();
        for (spec, name) in table {
            let key = match spec.parse::<KeyEvent>() {
                Ok(k) => k,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            if name == "none" {
                map.bindings.remove(&key);
            } else if let Some(cmd) = commands::find(name) {
                map.bindings.insert(key, cmd);
            } else {
                errors.push(format!("unknown command {name:?} for key {spec:?}"));
            }
        }
        (map, errors)
    }

    /// The command bound to `key`.
    pub fn get(&self, key: &KeyEvent) -> Option<&'static Command> {
        self.bindings.get(key).copied()
    }

    /// Keys bound to the command `name`, in a stable order.
    pub fn keys_for(&self, name: &str) -> Vec<KeyEvent> {
        let mut keys: Vec<_> =
            self.bindings.iter().filter(|(_, c)| c.name == name).map(|(k, _)| *k).collect();
        keys.sort_by_key(|k| {
            (k.mods.ctrl as u8 + k.mods.alt as u8 + k.mods.shift as u8, k.to_string())
        });
        keys
    }

    /// Help rows (keys, command name, help) for every command, bound ones first.
    pub fn help_lines(&self) -> Vec<(String, &'static str, &'static str)> {
        let mut lines: Vec<_> = commands::all()
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
