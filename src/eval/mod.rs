//! Graduation: the three-part blind test (exam, interview, general-knowledge guard).
