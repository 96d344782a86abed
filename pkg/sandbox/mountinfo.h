/*
 * mountinfo: the text of /proc/PID/mountinfo, as pure text handling shared
 * by the modules that read it (the control groups' layout, the mounts a
 * workspace is made on).
 */
#ifndef RUNBOX_MOUNTINFO_H
#define RUNBOX_MOUNTINFO_H

/*
 * Undo the kernel's escapes of a mountinfo field in place: space, tab,
 * newline and backslash are written as \ooo (octal).
 */
void mountinfo_unescape(char *s);

#endif
