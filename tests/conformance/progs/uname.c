// uname(2): the fields that a sandbox must present like the host (sysname, machine), and
// that the others are filled in.
#include <sys/utsname.h>

#include "conformance.h"

int main(void) {
  struct utsname name;
  SHOW_CALL("uname", uname(&name));
  SHOW_STR("sysname", name.sysname);
  SHOW_STR("machine", name.machine);
  SHOW_BOOL("release non-empty", name.release[0] != '\0');
  SHOW_BOOL("version non-empty", name.version[0] != '\0');
  SHOW_BOOL("nodename non-empty", name.nodename[0] != '\0');
  SHOW_BOOL("release starts with a digit", name.release[0] >= '0' && name.release[0] <= '9');
  return 0;
}
