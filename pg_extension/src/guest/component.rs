//! A compiled WebAssembly component as plwasm keeps it: wasmtime's component, pre-linked with WASI
//! preview 2 (nothing granted), and its exported functions with their WIT types, found by the names a
//! function body may use (docs/components.md, "Naming an export").

use super::instance::StoreData;
use super::wit;
use crate::error::{PlWasmError, Result};
use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};

/// Whether `bytes` are a component rather than a core module (the layer field of the preamble).
pub fn is_component(bytes: &[u8]) -> bool {
    wasmparser::Parser::is_component(bytes)
}

/// A component compiled once in this backend, ready to instantiate.
pub struct CompiledComponent {
    pub pre: InstancePre<StoreData>,
    /// Its exported functions, top-level ones first, then each exported interface's.
    pub functions: Vec<ComponentExport>,
}

/// One exported function of a component.
pub struct ComponentExport {
    /// `add` for a top-level function; `plwasm:polyglot/text@0.1.0#upper` for one in an interface.
    pub path: String,
    /// The function's own name (`upper`).
    pub name: String,
    /// The interface's name without its version (`plwasm:polyglot/text`), if it is in one.
    pub interface: Option<String>,
    pub index: ComponentExportIndex,
    pub ty: ComponentFunc,
}

impl ComponentExport {
    /// The export as plwasm.modules lists it: `add: func(a: s32, b: s32) -> s32`.
    pub fn described(&self) -> String {
        format!("{}: {}", self.path, wit::func_text(&self.ty))
    }

    /// For a resource's method or static function (`[method]moments.push`), the resource and the
    /// member (`moments`, `push`).
    pub fn resource_member(&self) -> Option<(&str, &str)> {
        let unbracketed = self.name.strip_prefix("[method]").or_else(|| self.name.strip_prefix("[static]"))?;
        unbracketed.split_once('.')
    }

    /// Whether this is a method (taking `self`) rather than a static function or a constructor.
    pub fn is_method(&self) -> bool {
        self.name.starts_with("[method]")
    }

    /// Whether `name` is this export's own name or, for a resource member, `resource.member` or the
    /// bare member name.
    fn named(&self, name: &str) -> bool {
        if name == self.name {
            return true;
        }
        match self.resource_member() {
            Some((resource, member)) => {
                name == member || name.split_once('.').is_some_and(|(r, m)| r == resource && m == member)
            }
            None => false,
        }
    }

    /// Whether `wanted` names this export: its path, `interface#name` with the interface's full or
    /// short name (`text#upper`), or the bare name. SQL names with `_` match WIT's `-`.
    fn answers_to(&self, wanted: &str) -> bool {
        let wanted = wanted.replace('_', "-");
        if self.path == wanted {
            return true;
        }
        match (wanted.split_once('#'), &self.interface) {
            (Some((interface, name)), Some(own)) => {
                self.named(name) && (interface == own || own.rsplit('/').next() == Some(interface))
            }
            (Some(_), None) => false,
            (None, _) => self.named(&wanted),
        }
    }
}

impl CompiledComponent {
    pub fn new(engine: &Engine, component: Component, linker: &Linker<StoreData>) -> Result<CompiledComponent> {
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            PlWasmError::definition("the component's imports cannot be linked")
                .with_detail(format!("{e:#}"))
                .with_hint("Components may import WASI preview 2 only, which plwasm links with nothing granted.")
        })?;
        let functions = exported_functions(engine, &component);
        Ok(CompiledComponent { pre, functions })
    }

    /// The export a function body names; `None` asks for the only exported function.
    pub fn find(&self, wanted: Option<&str>, proname: &str) -> Result<&ComponentExport> {
        let matching: Vec<&ComponentExport> = match wanted {
            Some(wanted) => self.functions.iter().filter(|f| f.answers_to(wanted)).collect(),
            None => {
                let by_name: Vec<&ComponentExport> = self.functions.iter().filter(|f| f.answers_to(proname)).collect();
                if by_name.is_empty() && self.functions.len() == 1 { vec![&self.functions[0]] } else { by_name }
            }
        };
        match matching.as_slice() {
            [one] => Ok(one),
            [] => Err(PlWasmError::definition(format!(
                "the component exports no function \"{}\"",
                wanted.unwrap_or(proname)
            ))
            .with_detail(self.listing())
            .with_hint("Name the export in the body as 'module:function' or 'module:interface#function'.")),
            many => Err(PlWasmError::definition(format!(
                "\"{}\" names more than one function of the component",
                wanted.unwrap_or(proname)
            ))
            .with_detail(many.iter().map(|f| f.path.as_str()).collect::<Vec<_>>().join(", "))
            .with_hint("Name the interface too: 'module:interface#function'.")),
        }
    }

    /// The constructor of the resource a member belongs to, from the same interface.
    pub fn constructor_of(&self, member: &ComponentExport) -> Option<&ComponentExport> {
        let (resource, _) = member.resource_member()?;
        let name = format!("[constructor]{resource}");
        self.functions.iter().find(|f| f.name == name && f.interface == member.interface)
    }

    fn listing(&self) -> String {
        if self.functions.is_empty() {
            return "The component exports no functions.".into();
        }
        format!("It exports: {}.", self.functions.iter().map(|f| f.described()).collect::<Vec<_>>().join("; "))
    }
}

/// Every function the component exports, at the top level or in an exported interface (one level
/// deep, as WIT worlds export them).
fn exported_functions(engine: &Engine, component: &Component) -> Vec<ComponentExport> {
    let ty = component.component_type();
    let mut top_level = Vec::new();
    let mut in_interfaces = Vec::new();
    for (name, export) in ty.exports(engine) {
        match export.ty {
            ComponentItem::ComponentFunc(func) => {
                let Some(index) = component.get_export_index(None, name) else { continue };
                top_level.push(ComponentExport {
                    path: name.to_string(),
                    name: name.to_string(),
                    interface: None,
                    index,
                    ty: func,
                });
            }
            ComponentItem::ComponentInstance(instance) => {
                let Some(instance_index) = component.get_export_index(None, name) else { continue };
                let interface = name.split_once('@').map_or(name, |(unversioned, _)| unversioned);
                for (function, item) in instance.exports(engine) {
                    let ComponentItem::ComponentFunc(func) = item.ty else { continue };
                    let Some(index) = component.get_export_index(Some(&instance_index), function) else { continue };
                    in_interfaces.push(ComponentExport {
                        path: format!("{name}#{function}"),
                        name: function.to_string(),
                        interface: Some(interface.to_string()),
                        index,
                        ty: func,
                    });
                }
            }
            _ => {}
        }
    }
    top_level.extend(in_interfaces);
    top_level
}
