/*
 * tree: remove a directory tree that an untrusted program may have shaped.
 *
 * The walk goes through directory fds with O_NOFOLLOW, never by path, so a
 * symlink planted in the tree is unlinked, never followed; directories the
 * program made unreadable are made readable first; a tree deeper than the
 * fds one walk may hold is moved up level by level and finished in later
 * passes.
 */
#ifndef RUNBOX_TREE_H
#define RUNBOX_TREE_H

/* Remove the tree below @dirfd/@name (not following links). */
int tree_remove_at(int dirfd, const char *name);

#endif
