//! Schemas of standard Windows Installer tables, for adding a table the base lacks and for
//! decoding a transform without its base. Column lists follow Microsoft's database reference
//! (cross-checked against `_Columns` of wixl-built MSIs).

use super::schema::{ColumnDef, ColumnKind, TableSchema};

/// `Name:type` per column, IDT style; `*` marks key columns; `l`/`L` = localizable string.
const TABLES: &[(&str, &str)] = &[
    ("AdminExecuteSequence", "Action:s72* Condition:S255 Sequence:I2"),
    ("AdminUISequence", "Action:s72* Condition:S255 Sequence:I2"),
    ("AdvtExecuteSequence", "Action:s72* Condition:S255 Sequence:I2"),
    ("AppSearch", "Property:s72* Signature_:s72*"),
    ("Binary", "Name:s72* Data:v0"),
    ("Component", "Component:s72* ComponentId:S38 Directory_:s72 Attributes:i2 Condition:S255 KeyPath:S72"),
    ("CreateFolder", "Directory_:s72* Component_:s72*"),
    ("CustomAction", "Action:s72* Type:i2 Source:S72 Target:S255 ExtendedType:I4"),
    ("Directory", "Directory:s72* Directory_Parent:S72 DefaultDir:l255"),
    ("Error", "Error:i2* Message:L0"),
    ("Feature", "Feature:s38* Feature_Parent:S38 Title:L64 Description:L255 Display:I2 Level:i2 Directory_:S72 Attributes:i2"),
    ("FeatureComponents", "Feature_:s38* Component_:s72*"),
    ("File", "File:s72* Component_:s72 FileName:l255 FileSize:i4 Version:S72 Language:S20 Attributes:I2 Sequence:i4"),
    ("Icon", "Name:s72* Data:v0"),
    ("InstallExecuteSequence", "Action:s72* Condition:S255 Sequence:I2"),
    ("InstallUISequence", "Action:s72* Condition:S255 Sequence:I2"),
    ("LaunchCondition", "Condition:s255* Description:l255"),
    ("Media", "DiskId:i2* LastSequence:i4 DiskPrompt:L64 Cabinet:S255 VolumeLabel:S32 Source:S72"),
    ("MsiFileHash", "File_:s72* Options:i2 HashPart1:i4 HashPart2:i4 HashPart3:i4 HashPart4:i4"),
    ("Property", "Property:s72* Value:l0"),
    ("RegLocator", "Signature_:s72* Root:i2 Key:s255 Name:S255 Type:I2"),
    ("Registry", "Registry:s72* Root:i2 Key:l255 Name:L255 Value:L0 Component_:s72"),
    ("RemoveFile", "FileKey:s72* Component_:s72 FileName:L255 DirProperty:s72 InstallMode:i2"),
    ("ServiceControl", "ServiceControl:s72* Name:l255 Event:i2 Arguments:L255 Wait:I2 Component_:s72"),
    ("ServiceInstall", "ServiceInstall:s72* Name:s255 DisplayName:L255 ServiceType:i4 StartType:i4 ErrorControl:i4 LoadOrderGroup:S255 Dependencies:S255 StartName:S255 Password:S255 Arguments:S255 Component_:s72 Description:L255"),
    ("Shortcut", "Shortcut:s72* Directory_:s72 Name:l128 Component_:s72 Target:s72 Arguments:S255 Description:L255 Hotkey:I2 Icon_:S72 IconIndex:I2 ShowCmd:I2 WkDir:S72 DisplayResourceDLL:S255 DisplayResourceId:I2 DescriptionResourceDLL:S255 DescriptionResourceId:I2"),
    ("Signature", "Signature:s72* FileName:s255 MinVersion:S20 MaxVersion:S20 MinSize:I4 MaxSize:I4 MinDate:I4 MaxDate:I4 Languages:S255"),
    ("Upgrade", "UpgradeCode:s38* VersionMin:S20* VersionMax:S20* Language:S255* Attributes:i4* Remove:S255 ActionProperty:s72"),
];

fn parse_column(spec: &str) -> Option<ColumnDef> {
    let (name, ty) = spec.split_once(':')?;
    let (ty, key) = match ty.strip_suffix('*') {
        Some(t) => (t, true),
        None => (ty, false),
    };
    let mut chars = ty.chars();
    let letter = chars.next()?;
    let size: u8 = chars.as_str().parse().ok()?;
    let kind = match letter.to_ascii_lowercase() {
        'i' if size == 4 => ColumnKind::Int32,
        'i' => ColumnKind::Int16,
        's' | 'l' => ColumnKind::Str(size),
        'v' => ColumnKind::Binary,
        _ => return None,
    };
    let mut col = ColumnDef::new(name, kind);
    col.key = key;
    col.nullable = letter.is_ascii_uppercase();
    col.localizable = letter.eq_ignore_ascii_case(&'l');
    Some(col)
}

/// The schema of a standard table, e.g. to add `Registry` or `CustomAction` to a base that
/// lacks it: `changes.add_table(standard_table("Registry").unwrap())`.
pub fn standard_table(name: &str) -> Option<TableSchema> {
    let (_, spec) = TABLES.iter().find(|(n, _)| *n == name)?;
    let columns = spec
        .split_whitespace()
        .map(parse_column)
        .collect::<Option<Vec<_>>>()?;
    Some(TableSchema::new(name, columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_parses() {
        for (name, _) in TABLES {
            let schema = standard_table(name).unwrap_or_else(|| panic!("{name}"));
            assert!(schema.check().is_ok(), "{name}");
        }
        let reg = standard_table("Registry").unwrap();
        let bits: Vec<u16> = reg.columns.iter().map(|c| c.type_bits()).collect();
        assert_eq!(bits, [0x2D48, 0x0502, 0x0FFF, 0x1FFF, 0x1F00, 0x0D48]);
        assert!(standard_table("NoSuchTable").is_none());
    }
}
