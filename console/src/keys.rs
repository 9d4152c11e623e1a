//! The one key registry: every key the console knows, what it does, where, and whether
//! it changes the agent. The footer hints and the help view are generated from it, and
//! `--read-only` filters the mutating ones out of both (and refuses them).

use crate::app::View;

/// A key press, independent of the terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Ctrl + a character.
    Ctrl(char),
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Home.
    Home,
    /// End.
    End,
    /// Tab.
    Tab,
    /// Shift + Tab.
    BackTab,
    /// Escape.
    Esc,
    /// Enter.
    Enter,
    /// Backspace.
    Backspace,
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the console.
    Quit,
    /// Show or leave the help.
    Help,
    /// Start typing a filter for the current view.
    Filter,
    /// Start typing a command (`:inventory`).
    Command,
    /// Close a dialog, clear the filter, then the marks.
    Escape,
    /// Selection up one row.
    Up,
    /// Selection down one row.
    Down,
    /// Selection up one page.
    PageUp,
    /// Selection down one page.
    PageDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// The next view.
    NextView,
    /// The previous view.
    PreviousView,
    /// A view by number.
    GoTo(View),
    /// Cycle the inventory's sort order.
    Sort,
    /// Mark or unmark the selected dead letter.
    Mark,
    /// Pause or resume the selected flow.
    TogglePause,
    /// Retry the marked dead letters, or the selected one.
    Retry,
    /// Retry every dead letter of the selected one's cause.
    RetryGroup,
    /// Discard the marked dead letters, or the selected one.
    Discard,
    /// Discard every dead letter of the selected one's cause.
    DiscardGroup,
    /// Queue a reconciliation run that repairs.
    Reconcile,
    /// Queue a reconciliation run that only reports.
    ReconcileDryRun,
    /// Queue the repair of the selected mismatch.
    RepairMismatch,
}

/// Where a binding works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In every view.
    Everywhere,
    /// In these views only.
    Only(&'static [View]),
}

impl Scope {
    /// Whether the binding works in `view`.
    pub fn covers(self, view: View) -> bool {
        match self {
            Scope::Everywhere => true,
            Scope::Only(views) => views.contains(&view),
        }
    }
}

/// One entry of the registry.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys that trigger it.
    pub keys: &'static [Key],
    /// How the keys are written in hints and help.
    pub label: &'static str,
    /// A short word for the footer.
    pub hint: &'static str,
    /// The sentence in the help.
    pub help: &'static str,
    /// What it does.
    pub action: Action,
    /// Where it works.
    pub scope: Scope,
    /// Whether it changes the agent's state (hidden and refused with `--read-only`).
    pub mutating: bool,
    /// Whether the footer shows it (the help shows every binding).
    pub in_footer: bool,
}

const DEAD: &[View] = &[View::DeadLetters];
const LISTS: &[View] = &[
    View::Overview,
    View::Inventory,
    View::Queue,
    View::DeadLetters,
    View::Parity,
    View::Help,
];

/// Every key binding, in the order the help lists them.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[Key::Char('?')],
        label: "?",
        hint: "help",
        help: "Show this help; again or Esc to go back",
        action: Action::Help,
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char(':')],
        label: ":",
        hint: "command",
        help: "Command: :overview :inventory :queue :dlq :parity :help :quit",
        action: Action::Command,
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char('/')],
        label: "/",
        hint: "filter",
        help: "Filter the rows of this view (Enter keeps it, Esc clears it)",
        action: Action::Filter,
        scope: Scope::Only(&[
            View::Overview,
            View::Inventory,
            View::Queue,
            View::DeadLetters,
        ]),
        mutating: false,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Esc],
        label: "Esc",
        hint: "back",
        help: "Close the dialog, clear the filter, then the marks",
        action: Action::Escape,
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Char('1')],
        label: "1",
        hint: "overview",
        help: "Overview: flows, queue, dead letters, attention",
        action: Action::GoTo(View::Overview),
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Char('2')],
        label: "2",
        hint: "inventory",
        help: "Inventory: ERP and Shopify per SKU and location",
        action: Action::GoTo(View::Inventory),
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Char('3')],
        label: "3",
        hint: "queue",
        help: "Queue: pending and in-flight jobs",
        action: Action::GoTo(View::Queue),
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Char('4')],
        label: "4",
        hint: "dead letters",
        help: "Dead letters: grouped by cause, with the selected one's detail",
        action: Action::GoTo(View::DeadLetters),
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Char('5')],
        label: "5",
        hint: "parity",
        help: "Parity: reconciliation runs",
        action: Action::GoTo(View::Parity),
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Tab],
        label: "Tab",
        hint: "next view",
        help: "Next view (Shift+Tab: previous)",
        action: Action::NextView,
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::BackTab],
        label: "S-Tab",
        hint: "previous view",
        help: "Previous view",
        action: Action::PreviousView,
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Up, Key::Char('k')],
        label: "↑/k",
        hint: "up",
        help: "Move the selection up",
        action: Action::Up,
        scope: Scope::Only(LISTS),
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Down, Key::Char('j')],
        label: "↓/j",
        hint: "down",
        help: "Move the selection down",
        action: Action::Down,
        scope: Scope::Only(LISTS),
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::PageUp, Key::Ctrl('u')],
        label: "PgUp",
        hint: "page up",
        help: "One page up (also Ctrl+U)",
        action: Action::PageUp,
        scope: Scope::Only(LISTS),
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::PageDown, Key::Ctrl('d')],
        label: "PgDn",
        hint: "page down",
        help: "One page down (also Ctrl+D)",
        action: Action::PageDown,
        scope: Scope::Only(LISTS),
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Home],
        label: "Home",
        hint: "top",
        help: "First row",
        action: Action::Top,
        scope: Scope::Only(LISTS),
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::End],
        label: "End",
        hint: "bottom",
        help: "Last row",
        action: Action::Bottom,
        scope: Scope::Only(LISTS),
        mutating: false,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Char('s')],
        label: "s",
        hint: "sort",
        help: "Sort by |delta|, SKU, or status",
        action: Action::Sort,
        scope: Scope::Only(&[View::Inventory]),
        mutating: false,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char('p')],
        label: "p",
        hint: "pause/resume",
        help: "Pause or resume the selected flow",
        action: Action::TogglePause,
        scope: Scope::Only(&[View::Overview]),
        mutating: true,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char(' ')],
        label: "space",
        hint: "mark",
        help: "Mark or unmark the selected dead letter",
        action: Action::Mark,
        scope: Scope::Only(DEAD),
        mutating: false,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char('r')],
        label: "r",
        hint: "retry",
        help: "Retry the marked dead letters, or the selected one",
        action: Action::Retry,
        scope: Scope::Only(DEAD),
        mutating: true,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char('g')],
        label: "g",
        hint: "retry group",
        help: "Retry every dead letter with the selected one's flow and cause",
        action: Action::RetryGroup,
        scope: Scope::Only(DEAD),
        mutating: true,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char('D')],
        label: "D",
        hint: "discard",
        help: "Discard the marked dead letters, or the selected one",
        action: Action::Discard,
        scope: Scope::Only(DEAD),
        mutating: true,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char('X')],
        label: "X",
        hint: "discard group",
        help: "Discard every dead letter with the selected one's flow and cause",
        action: Action::DiscardGroup,
        scope: Scope::Only(DEAD),
        mutating: true,
        in_footer: false,
    },
    Binding {
        keys: &[Key::Char('R')],
        label: "R",
        hint: "reconcile",
        help: "Queue a reconciliation run that repairs what differs",
        action: Action::Reconcile,
        scope: Scope::Only(&[View::Overview, View::Inventory, View::Parity]),
        mutating: true,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char('d')],
        label: "d",
        hint: "dry run",
        help: "Queue a reconciliation run that only reports (dry run)",
        action: Action::ReconcileDryRun,
        scope: Scope::Only(&[View::Parity]),
        mutating: true,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char('f')],
        label: "f",
        hint: "fix",
        help: "Repair the selected mismatch through the normal write path (Parity)",
        action: Action::RepairMismatch,
        scope: Scope::Only(&[View::Parity]),
        mutating: true,
        in_footer: true,
    },
    Binding {
        keys: &[Key::Char('q'), Key::Ctrl('c')],
        label: "q",
        hint: "quit",
        help: "Quit (also Ctrl+C)",
        action: Action::Quit,
        scope: Scope::Everywhere,
        mutating: false,
        in_footer: true,
    },
];

/// The key a terminal key event stands for (presses only; `None` for keys the console
/// does not use).
pub fn from_crossterm(event: &crossterm::event::KeyEvent) -> Option<Key> {
    use crossterm::event::{KeyCode, KeyModifiers};
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    Some(match event.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Esc => Key::Esc,
        KeyCode::Enter => Key::Enter,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    })
}

/// The binding `key` triggers in `view`.
pub fn lookup(key: Key, view: View) -> Option<&'static Binding> {
    BINDINGS
        .iter()
        .find(|binding| binding.keys.contains(&key) && binding.scope.covers(view))
}

/// The bindings the footer shows in `view`.
pub fn footer(view: View, read_only: bool) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |binding| {
        binding.in_footer && binding.scope.covers(view) && !(read_only && binding.mutating)
    })
}

/// The bindings the help lists.
pub fn help(read_only: bool) -> impl Iterator<Item = &'static Binding> {
    BINDINGS
        .iter()
        .filter(move |binding| !(read_only && binding.mutating))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_means_two_things_in_one_view() {
        for view in View::ALL {
            for (i, a) in BINDINGS.iter().enumerate() {
                for b in &BINDINGS[i + 1..] {
                    let clash = a.scope.covers(view)
                        && b.scope.covers(view)
                        && a.keys.iter().any(|key| b.keys.contains(key));
                    assert!(!clash, "{} and {} clash in {view:?}", a.label, b.label);
                }
            }
        }
    }

    #[test]
    fn read_only_hides_every_mutating_key() {
        for view in View::ALL {
            assert!(footer(view, true).all(|binding| !binding.mutating));
        }
        assert!(help(true).all(|binding| !binding.mutating));
        assert!(help(false).any(|binding| binding.mutating));
    }
}
