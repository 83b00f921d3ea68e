#include "CLinuxGPIO.h"

#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>

/*
 * The sizes the kernel's uAPI documents; a header that disagrees would make every ioctl below
 * read or write the wrong bytes, so the build stops instead.
 */
_Static_assert(sizeof(struct gpiochip_info) == 68, "gpiochip_info is 68 bytes");
_Static_assert(sizeof(struct gpio_v2_line_attribute) == 16, "gpio_v2_line_attribute is 16 bytes");
_Static_assert(sizeof(struct gpio_v2_line_config) == 272, "gpio_v2_line_config is 272 bytes");
_Static_assert(sizeof(struct gpio_v2_line_request) == 592, "gpio_v2_line_request is 592 bytes");
_Static_assert(sizeof(struct gpio_v2_line_info) == 256, "gpio_v2_line_info is 256 bytes");
_Static_assert(sizeof(struct gpio_v2_line_values) == 16, "gpio_v2_line_values is 16 bytes");
_Static_assert(sizeof(struct gpio_v2_line_event) == 48, "gpio_v2_line_event is 48 bytes");
_Static_assert(offsetof(struct gpio_v2_line_request, fd) == 588, "fd ends the request");

/* One ioctl, retried on EINTR, with the kernel's errno returned negated. */
static int outpost_gpio_ioctl(int fd, unsigned long request, void *argument) {
  int saved = errno;
  int result;
  do {
    result = ioctl(fd, request, argument);
  } while (result < 0 && errno == EINTR);
  if (result < 0) result = -errno;
  errno = saved;
  return result;
}

int outpost_gpio_chip_info(int chip_fd, struct gpiochip_info *info) {
  return outpost_gpio_ioctl(chip_fd, GPIO_GET_CHIPINFO_IOCTL, info);
}

int outpost_gpio_line_info(int chip_fd, struct gpio_v2_line_info *info) {
  return outpost_gpio_ioctl(chip_fd, GPIO_V2_GET_LINEINFO_IOCTL, info);
}

int outpost_gpio_request_lines(int chip_fd, struct gpio_v2_line_request *request) {
  int result = outpost_gpio_ioctl(chip_fd, GPIO_V2_GET_LINE_IOCTL, request);
  return result < 0 ? result : request->fd;
}

int outpost_gpio_set_values(int request_fd, struct gpio_v2_line_values *values) {
  return outpost_gpio_ioctl(request_fd, GPIO_V2_LINE_SET_VALUES_IOCTL, values);
}

int outpost_gpio_get_values(int request_fd, struct gpio_v2_line_values *values) {
  return outpost_gpio_ioctl(request_fd, GPIO_V2_LINE_GET_VALUES_IOCTL, values);
}
