//! The front end's key handling: it owns the [`Keymap`] and the [`Commands`] table and turns one key press into
//! a command run over a [`Context`]. The editor model never sees a binding; it only offers the operations.

use crate::commands::{Command, Commands, Context, Scope};
use crate::config::Config;
use crate::editor::{Editor, MessageKind, Mode, PromptEdit};
use crate::input::{Key, KeyEvent};
use crate::keymap::{HelpLine, Keymap};

/// Key bindings and the commands they name.
#[derive(Clone, Debug)]
pub struct Keys {
    keymap: Keymap,
    commands: Commands,
}

impl Default for Keys {
    fn default() -> Self {
        Keys::new(&Config::default()).0
    }
}

impl Keys {
    /// The built-in commands bound as `config`'s `[keys]` says, with the problems found in that table.
    pub fn new(config: &Config) -> (Keys, Vec<String>) {
        let commands = Commands::builtin();
        let (keymap, errors) = Keymap::from_table(&config.keys, &commands);
        (Keys { keymap, commands }, errors)
    }

    /// Like [`Keys::new`], telling the problems on `editor`'s message line unless opening the file already put
    /// something there (a read-only or new file says more).
    pub fn configured(config: &Config, editor: &mut Editor) -> Keys {
        let (keys, errors) = Keys::new(config);
        if !errors.is_empty() && editor.message().is_none() {
            editor.notify(format!("config [keys]: {}", errors.join("; ")), MessageKind::Error);
        }
        keys
    }

    /// Replaces the command of the same name (keys bound to the name now run `command`).
    pub fn register(&mut self, command: Command) {
        self.commands.register(command);
    }

    /// The bindings.
    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// Rows of the help screen.
    pub fn help_lines(&self) -> Vec<HelpLine> {
        self.keymap.help_lines(&self.commands)
    }

    /// Handles one key press: a bound command, typing, or an answer to a question, as the editor's mode says.
    pub fn handle_key(&self, cx: &mut Context<'_>, key: KeyEvent) {
        match cx.editor.mode() {
            Mode::Normal => self.normal_key(cx, key),
            Mode::Prompt(_) => self.prompt_key(cx, key),
            Mode::Confirm(_) | Mode::Help(_) => cx.editor.answer(key),
        }
    }

    /// [`Keys::handle_key`] for an editor on its own (no shared document).
    pub fn press(&self, editor: &mut Editor, key: KeyEvent) {
        self.handle_key(&mut Context::solo(editor), key);
    }

    fn normal_key(&self, cx: &mut Context<'_>, key: KeyEvent) {
        let message_before = cx.editor.message().cloned();
        let command = self.keymap.get(&key).and_then(|name| self.commands.get(Scope::Normal, name));
        if let Some(command) = command {
            (command.run)(cx);
        } else if let Some(c) = typed_char(key) {
            cx.editor.each_cursor(|ed| ed.type_char_closing(c));
        } else {
            let text = format!("{key} is not bound (F1 shows the keys)");
            cx.editor.notify(text, MessageKind::Error);
            return;
        }
        // A message lasts until the next key unless the key set a new one.
        let ed = &mut cx.editor;
        if ed.message() == message_before.as_ref()
            && matches!(ed.mode(), Mode::Normal)
            && !ed.is_busy()
        {
            ed.clear_message();
        }
    }

    fn prompt_key(&self, cx: &mut Context<'_>, key: KeyEvent) {
        let command = self
            .keymap
            .prompt_command(&key)
            .and_then(|name| self.commands.get(Scope::Prompt, name));
        if let Some(command) = command {
            (command.run)(cx);
        } else if let Some(c) = typed_char(key) {
            cx.editor.edit_prompt(PromptEdit::Insert(c.to_string()));
        }
    }
}

/// The character a key types: a character key without Ctrl or Alt (Shift is already in its case).
fn typed_char(key: KeyEvent) -> Option<char> {
    match (key.key, key.mods.ctrl, key.mods.alt) {
        (Key::Char(c), false, false) => Some(c),
        _ => None,
    }
}
