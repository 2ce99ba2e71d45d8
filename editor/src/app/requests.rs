//! What commands ask of the app (open, save as, pick, split, follow…) and what the picker
//! hands back: requests are data, carried out here.

use super::*;

impl App {
    pub(super) fn request(&mut self, request: Request) {
        let layout = self.layout_area();
        match request {
            Request::NextBuffer => self.cycle_buffer(1),
            Request::PreviousBuffer => self.cycle_buffer(self.buffers.len() - 1),
            Request::CloseBuffer => {
                let i = self.focused_index();
                let id = self.buffers[i].id;
                self.buffers[i].editor.close();
                self.closing = Some(Closing::Buffer(id));
            }
            Request::BufferList => {
                let items = self
                    .buffers
                    .iter()
                    .map(|s| PickerItem { label: s.name(), target: Picked::Buffer(s.id) })
                    .collect();
                let source = picker::ItemsSource(items);
                self.overlay =
                    Some(Overlay::Picker(Box::new(self.new_picker("Buffers", Box::new(source)))));
            }
            Request::OpenFile => {
                let (title, source): (_, Box<dyn picker::PickerSource>) = match &mut self.workspace
                {
                    Some(workspace) => {
                        ("Open (Enter on a new path makes it)", workspace.picker_source())
                    }
                    None => {
                        let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                        ("Open", Box::new(picker::FilesSource { root }))
                    }
                };
                self.overlay = Some(Overlay::Picker(Box::new(self.new_picker(title, source))));
            }
            Request::GoOnline => self.go_online(),
            Request::History => self.open_history(),
            Request::Authorship => self.toggle_authorship(),
            Request::SplitBelow => self.split(Axis::Rows),
            Request::SplitRight => self.split(Axis::Columns),
            Request::Focus(direction) => {
                let before = self.splits.focused();
                if self.splits.focus_direction(direction, layout) {
                    self.focus_changed(before);
                }
            }
            Request::FocusNext => {
                let before = self.splits.focused();
                self.splits.focus_next(layout);
                self.focus_changed(before);
            }
            Request::CloseSplit => {
                let before = self.splits.focused();
                match self.splits.close(before, layout) {
                    Some(pane) => {
                        self.release_view(pane);
                        self.focus_changed(before);
                    }
                    None => self.editor_mut().notify("the last split stays", MessageKind::Info),
                }
            }
            Request::Resize(resize) => {
                if !self.splits.resize(resize) {
                    self.editor_mut().notify("no split to resize", MessageKind::Info);
                }
            }
        }
        self.size_views();
    }

    pub(super) fn new_picker(
        &self,
        title: &'static str,
        source: Box<dyn picker::PickerSource>,
    ) -> Picker {
        let events = self.events.clone();
        let pending = self.picker_pending.clone();
        let notify = Arc::new(move || {
            if let Some(events) = &events
                && !pending.swap(true, Ordering::Relaxed)
            {
                let _ = events.send(AppEvent::Picker);
            }
        });
        Picker::new(title, source, notify)
    }

    pub(super) fn picked(&mut self, picked: Picked) {
        match picked {
            Picked::Buffer(id) => self.show_buffer(id),
            Picked::Path(path) => {
                if let Err(e) = self.open_file(&path) {
                    self.editor_mut().notify(e.to_string(), MessageKind::Error);
                }
            }
            Picked::Document(url) => self.open_document(&url),
            Picked::NewFile(path) => {
                let Some(workspace) = &mut self.workspace else { return };
                match workspace.create(&path, now_ms()) {
                    Ok(url) => {
                        self.open_document(&url);
                        self.editor_mut()
                            .notify(format!("{path}: a file of the workspace"), MessageKind::Info);
                    }
                    Err(e) => self.editor_mut().notify(e.to_string(), MessageKind::Error),
                }
            }
        }
        self.size_views();
    }

    /// Opens (or shows) the shared document at `url` with the identity and store of the
    /// workspace or of a shared document already open. An untouched scratch buffer it replaces
    /// is closed (the one a workspace opens with).
    pub(super) fn open_document(&mut self, url: &str) {
        let Some(options) = self.shared_options(url) else {
            return self.editor_mut().notify(
                "open a shared document first: its identity and store are reused",
                MessageKind::Error,
            );
        };
        let before = self.splits.focused_pane().buffer;
        let scratch = self.index_of(before).is_some_and(|i| {
            let slot = &self.buffers[i];
            let ed = &slot.editor;
            slot.shared.is_none()
                && ed.path().is_none()
                && ed.rope().len_chars() == 0
                && !ed.is_modified()
        });
        match self.open_shared(options) {
            Ok(opened) if scratch && opened != before && self.splits.panes().count() == 1 => {
                self.buffers.retain(|s| s.id != before);
            }
            Ok(_) => {}
            Err(e) => self.editor_mut().notify(e.to_string(), MessageKind::Error),
        }
    }
}
