package sysinfo

// MemTotal is the machine's memory in bytes (/proc/meminfo MemTotal), or 0
// when it cannot be read.
func MemTotal() int64 { return memTotal() }
