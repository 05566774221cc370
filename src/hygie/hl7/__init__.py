"""HL7 v2 interfaces: the ADT feed (files and MLLP), through the gate (access.feed)."""
