//! Parse errors: a kind a test can match on, the name of the ELF field that was being read, and the byte
//! offset in the file where that field sits (or would sit). Built only through the constructors below so
//! every error in the crate reads the same way.

use std::fmt;

/// What went wrong, independent of where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The field (or the table it belongs to) extends past the end of the file.
    Truncated,
    /// The first four bytes are not `\x7fELF`.
    BadMagic,
    /// `EI_CLASS` is neither ELFCLASS32 nor ELFCLASS64.
    BadClass,
    /// `EI_DATA` is neither little nor big endian.
    BadEncoding,
    /// `EI_CLASS` names one class but the header is laid out for the other (`e_ehsize` reads as the
    /// other class's header size where that class keeps it).
    WrongClass,
    /// `EI_DATA` names one byte order but the header reads right only in the other (`e_type` and
    /// `e_machine` make sense byte-swapped).
    WrongEncoding,
    /// `EI_VERSION`/`e_version` is not EV_CURRENT.
    BadVersion,
    /// `e_type` is not ET_DYN: every vDSO is a shared object.
    NotSharedObject,
    /// The ELF class cannot go with this machine (e.g. an ELFCLASS64 EM_386 file).
    ClassMachineMismatch,
    /// An entry size field does not match the size its structure has for this class.
    BadEntrySize,
    /// A required piece is absent (no PT_LOAD, no PT_DYNAMIC, no DT_SYMTAB, no symbol count, ...).
    Missing,
    /// A virtual address is not inside any PT_LOAD segment's file contents.
    UnmappedAddress,
    /// Two PT_LOAD segments overlap in memory or in the file.
    Overlap,
    /// A string is not NUL-terminated inside its table, or is not UTF-8.
    BadString,
    /// An index points outside the table it indexes (symbol, version, bucket).
    BadIndex,
    /// A linked structure (hash chain, version chain) revisits an entry or never ends.
    Cycle,
    /// A count is larger than the bytes that could hold it.
    TooLarge,
    /// A field has a value the format does not allow here (alignment, flags, ordering).
    BadValue,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Truncated => "extends past the end of the file",
            ErrorKind::BadMagic => "is not the ELF magic \\x7fELF",
            ErrorKind::BadClass => "is not ELFCLASS32 or ELFCLASS64",
            ErrorKind::BadEncoding => "is not ELFDATA2LSB or ELFDATA2MSB",
            ErrorKind::WrongClass => {
                "names the wrong ELF class: the header is laid out for the other one"
            }
            ErrorKind::WrongEncoding => {
                "names the wrong byte order: the header reads right only byte-swapped"
            }
            ErrorKind::BadVersion => "is not EV_CURRENT",
            ErrorKind::NotSharedObject => "is not ET_DYN (a vDSO is a shared object)",
            ErrorKind::ClassMachineMismatch => "does not fit the ELF class",
            ErrorKind::BadEntrySize => "has the wrong entry size for this ELF class",
            ErrorKind::Missing => "is missing",
            ErrorKind::UnmappedAddress => "is an address outside every PT_LOAD segment",
            ErrorKind::Overlap => "overlaps another PT_LOAD segment",
            ErrorKind::BadString => "is not a NUL-terminated UTF-8 string inside the string table",
            ErrorKind::BadIndex => "is an index outside its table",
            ErrorKind::Cycle => "forms a cycle or an endless chain",
            ErrorKind::TooLarge => "is a count larger than the file can hold",
            ErrorKind::BadValue => "has a value the format does not allow",
        }
    }
}

/// A typed parse error: `kind` of problem in `field`, located at byte `offset` of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    /// The ELF field or table, named as in the ELF specification (`e_phoff`, `DT_GNU_HASH`, `vd_next`).
    pub field: &'static str,
    /// Byte offset in the input where the field starts (for `Truncated`, where it would start).
    pub offset: u64,
}

impl ParseError {
    pub(crate) fn new(kind: ErrorKind, field: &'static str, offset: u64) -> ParseError {
        ParseError {
            kind,
            field,
            offset,
        }
    }
    pub(crate) fn truncated(field: &'static str, offset: u64) -> ParseError {
        ParseError::new(ErrorKind::Truncated, field, offset)
    }
    pub(crate) fn missing(field: &'static str) -> ParseError {
        ParseError::new(ErrorKind::Missing, field, 0)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == ErrorKind::Missing {
            write!(f, "{} {}", self.field, self.kind.describe())
        } else {
            write!(
                f,
                "{} at byte {:#x} {}",
                self.field,
                self.offset,
                self.kind.describe()
            )
        }
    }
}

impl std::error::Error for ParseError {}

pub type Result<T> = std::result::Result<T, ParseError>;
